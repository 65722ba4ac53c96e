import { fileURLToPath } from 'node:url';

/** templates/ at the repository root, resolved from this module so the cwd does not matter. */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
