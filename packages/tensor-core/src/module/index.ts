export { type LoadStateDictOptions, Module } from './module.js';
