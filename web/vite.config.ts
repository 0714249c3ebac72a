// Builds the dashboard page into web/dist (served by daemon/http). Relative asset URLs, so the page works
// under any path prefix; everything is bundled (mqtt's browser build included): no CDN at run time.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  // `npx vite --config web/vite.config.ts` (development): the daemon's documents come from a running daemon.
  server: {
    proxy: { '/config.json': 'http://127.0.0.1:8080', '/api': 'http://127.0.0.1:8080' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One chunk: the page is small, and one request less matters more than cache granularity here.
    chunkSizeWarningLimit: 600,
  },
});
