// The field app's service worker: keeps the app shell so the app opens with no network.
// The service fills in the shell's version and list; a new version re-caches everything.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `field-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("field-shell-") && key !== CACHE)
          .map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

// Shell files come from the cache at once (the version above changes when they do); the API
// always goes to the network, never to a cache.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = event.request.mode === "navigate" && url.pathname.startsWith("/field/")
    ? "/field/"
    : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    caches.open(CACHE).then((cache) => cache.match(path)).then(
      (cached) => cached ?? fetch(event.request),
    ),
  );
});
