/** llama-perplexity's HellaSwag, Winogrande and multiple-choice figures for stories260K (see reference-suite.ts). */
import { referenceSuite } from './reference-suite.js';

referenceSuite('stories260K');
