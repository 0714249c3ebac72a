// Builds the dashboard page into web/dist (served by daemon/http). Relative asset URLs, so the page works
// under any path prefix; everything is bundled (mqtt's browser build included): no CDN at run time.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One chunk: the page is small, and one request less matters more than cache granularity here.
    chunkSizeWarningLimit: 600,
  },
});
