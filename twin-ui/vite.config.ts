import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Builds the twin into twin-ui/dist, which the engine's HTTP server serves at `/`. */
export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `vite --config twin-ui/vite.config.ts` proxies the API and the socket to a running engine.
    proxy: {
      '/api': process.env['STRATUM_URL'] ?? 'http://127.0.0.1:8080',
      '/socket.io': { target: process.env['STRATUM_URL'] ?? 'http://127.0.0.1:8080', ws: true },
    },
  },
});
