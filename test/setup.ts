/**
 * Loads the module list before any test: it installs what every module contributes to the
 * shared catalogues (messages, the field catalogue, migrations), as `kluis` does at start.
 */
import '../src/modules/index.js';
