import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The Lab UI: built once to web/dist (by `npm install`'s prepare script, or by the Lab on
// first start) and served as static files by the Lab server; no dev server at run time.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  // `vite dev` for working on the UI: API and event socket from a Lab on :3000.
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', ws: true } } },
});
