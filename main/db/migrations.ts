/**
 * @file The bundled list of SQL migrations. Vite inlines every main/db/migrations/NNNN_*.sql file at build
 * time, so there are no runtime path lookups (and no asar path problems).
 */
import { migrationsFromFiles, type Migration } from './migrate';

const files = import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true });

/** All migrations, in version order. */
export const MIGRATIONS: readonly Migration[] = migrationsFromFiles(files);
