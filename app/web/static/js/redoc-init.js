// Starts ReDoc from the self-hosted module, with its usage reports to Redocly turned off: the
// documentation must work, and stay silent, on a network with no internet.
import { init } from "../vendor/redoc-3.0.1/redoc.standalone.js";

var element = document.getElementById("redoc");
init(element.dataset.openapiUrl, { disableTelemetry: true, hideDownloadButtons: false }, element);
