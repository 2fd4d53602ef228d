// Renders /openapi.json with swagger-ui-dist, served by the api from node_modules.
/* global window, SwaggerUIBundle */
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  // validatorUrl null: Swagger UI would otherwise send the document to an outside validator.
  SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger", validatorUrl: null, deepLinking: true });
});
