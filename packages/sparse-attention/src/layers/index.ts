export { type AttentionMode, SparseAttention, type SparseAttentionLayerOptions, type SparseAttentionOutput } from './sparse-attention.js';
