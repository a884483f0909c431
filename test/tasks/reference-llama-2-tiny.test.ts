/**
 * llama-perplexity's HellaSwag, Winogrande and multiple-choice figures for
 * llama-2-tiny-random (V = 32000, the other tokenizer; see reference-suite.ts).
 */
import { referenceSuite } from './reference-suite.js';

referenceSuite('llama-2-tiny-random');
