"""Functions for kernels outside the homeworks: more activations, batch normalisation, einsum."""
from ...kernels import activation as ak
from ...kernels import batchnorm as bk
from ...kernels import einsum as ek
from ..function import kernel_function

LeakyRelu = kernel_function("LeakyRelu", ak.leaky_relu_forward, ak.leaky_relu_backward)
Elu = kernel_function("Elu", ak.elu_forward, ak.elu_backward)
Silu = kernel_function("Silu", ak.silu_forward, ak.silu_backward)
Softplus = kernel_function("Softplus", ak.softplus_forward, ak.softplus_backward)
BatchNorm = kernel_function("BatchNorm", bk.batch_norm_forward, bk.batch_norm_backward,
                            doc="Batch norm with batch statistics. apply(x, weight_or_None, bias_or_None, eps=).")

Einsum = kernel_function("Einsum", ek.einsum_forward, ek.einsum_backward,
                         doc="einsum of any number of operands. apply(*operands, equation=).")
