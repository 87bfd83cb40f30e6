// Swagger UI for the local stack's /docs (served by src/pushgate_local/docs_routes.py).
// The committed OpenAPI document names the local stack at port 3000; the page may be served on
// another port (PUSHGATE_HTTP_PORT, the tests' free ports), so the page's own origin is put first
// in `servers`: try-it-out then calls the stack that served the page.
"use strict";

(async function start() {
  const response = await fetch("/docs/openapi.json");
  const spec = await response.json();
  spec.servers = [
    { url: window.location.origin, description: "This local stack (the origin of this page)" },
    ...(spec.servers || []),
  ];
  window.ui = SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    displayRequestDuration: true,
    persistAuthorization: false,
  });
})();
