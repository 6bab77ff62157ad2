/**
 * @file One execution-provider list and parser for doctor/converter (main/models/providers.ts), inference
 * (model/inference/pack.ts), the trainer's --ep and the registry's load requests: a value one accepts
 * (MUSILINGO_EP=CPU) every one accepts, and a value one refuses every one refuses with the same message.
 */
import { describe, expect, it } from 'vitest';
import { chooseExecutionProvider, PROVIDER_ORDER, type ProviderEnvironment } from '../../../../main/models/providers';
import { EXECUTION_PROVIDERS as PACK_PREFERENCES, providersFor as packProvidersFor } from '../../../../model/inference/pack';
import { EXECUTION_PROVIDERS, envProviderPreference, parseProviderList, parseProviderPreference } from '../../../../model/ort/providers';
import { EXECUTION_PROVIDERS as SESSION_PROVIDERS } from '../../../../model/ort/session';

function env(vars: NodeJS.ProcessEnv): ProviderEnvironment {
  return { platform: 'linux', arch: 'x64', env: vars, bindingDir: '/ort', fileExists: () => false, listDir: () => [] };
}

describe('execution providers', () => {
  it('is one list everywhere', () => {
    expect(PROVIDER_ORDER).toBe(EXECUTION_PROVIDERS);
    expect(SESSION_PROVIDERS).toBe(EXECUTION_PROVIDERS);
    expect([...PACK_PREFERENCES]).toEqual(['auto', ...EXECUTION_PROVIDERS]);
  });

  it('accepts MUSILINGO_EP=CPU in doctor, the converter, inference, the trainer and the registry', async () => {
    const choice = await chooseExecutionProvider({ environment: env({ MUSILINGO_EP: 'CPU' }), probe: false });
    expect(choice).toMatchObject({ chosen: 'cpu', override: 'cpu' });
    expect(packProvidersFor('CPU')).toEqual(['cpu']);
    expect(parseProviderList('CPU')).toEqual(['cpu']);
    expect(envProviderPreference({ MUSILINGO_EP: ' Cpu ' })).toBe('cpu');
    expect(parseProviderList('WebGPU, cpu')).toEqual(['webgpu', 'cpu']);
    expect(parseProviderPreference(undefined)).toBe('auto');
    expect(packProvidersFor('auto')).toEqual(['cuda', 'webgpu', 'cpu']);
  });

  it('refuses an unknown provider everywhere, naming where it came from and the allowed values', async () => {
    const msg = /Unsupported execution provider "gpu".*Expected one of: auto, cuda, webgpu, cpu/;
    await expect(chooseExecutionProvider({ environment: env({ MUSILINGO_EP: 'gpu' }), probe: false })).rejects.toThrow(/in MUSILINGO_EP/);
    await expect(chooseExecutionProvider({ environment: env({ MUSILINGO_EP: 'gpu' }), probe: false })).rejects.toThrow(msg);
    expect(() => packProvidersFor('gpu')).toThrow(msg);
    expect(() => parseProviderList('cpu,gpu', '--ep')).toThrow(/"gpu" in --ep/);
    expect(() => envProviderPreference({ MUSILINGO_EP: 'gpu' })).toThrow(msg);
  });
});
