// Starts Swagger UI from the self-hosted bundle (no inline script: see the CSP).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var swagger = document.getElementById("swagger-ui");
    if (swagger && window.SwaggerUIBundle) {
      window.SwaggerUIBundle({
        url: swagger.dataset.openapiUrl,
        dom_id: "#swagger-ui",
        layout: "BaseLayout",
        // A deep link puts an anchor inside each operation's button: nested controls a screen
        // reader cannot reach.
        deepLinking: false,
        showExtensions: true,
        showCommonExtensions: true,
        validatorUrl: null,
        presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset].filter(Boolean)
      });
    }
  });
})();
