import { defineConfig } from "vite";

// Built files are served by Django (whitenoise) under /static/; Django's templates read the
// manifest to find the hashed names. No inline scripts: the page's CSP forbids them.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    modulePreload: { polyfill: false },
    target: "es2022",
    sourcemap: false,
    rollupOptions: { input: "src/main.ts" },
  },
});
