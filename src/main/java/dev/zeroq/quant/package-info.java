/**
 * Quantization primitives, pure functions with no graph execution: the official ZeroQ affine quantizer
 * ({@link dev.zeroq.quant.AffineQuantizer}, scheme {@code paper}), the int8-runtime quantizers
 * ({@link dev.zeroq.quant.SymmetricQuantizer}, scheme {@code deploy}), range clipping
 * ({@link dev.zeroq.quant.Clipping}), mixed-precision bit allocation ({@link dev.zeroq.quant.Pareto}),
 * the KL sensitivity measure ({@link dev.zeroq.quant.Sensitivity}) and the plan file
 * ({@link dev.zeroq.quant.QuantPlan}). ZEROQ.md holds the algorithm facts they follow.
 */
package dev.zeroq.quant;
