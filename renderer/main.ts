/**
 * @file Renderer entry (renderer process): mounts the Svelte app.
 */
import { mount } from 'svelte';
import App from './components/App.svelte';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks the #app element');
mount(App, { target });
