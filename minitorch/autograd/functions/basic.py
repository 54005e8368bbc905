"""Functions for the hw1 kernels: elementwise, reductions, matmul and shape ops."""
from ...kernels import elementwise as ew
from ...kernels import matmul as mm
from ...kernels import reduce as rd
from ...kernels import shape as sh
from ..function import Function, kernel_function

Add = kernel_function("Add", ew.add_forward, ew.add_backward)
Sub = kernel_function("Sub", ew.sub_forward, ew.sub_backward)
Mul = kernel_function("Mul", ew.mul_forward, ew.mul_backward)
Div = kernel_function("Div", ew.div_forward, ew.div_backward)
Neg = kernel_function("Neg", ew.neg_forward, ew.neg_backward)
Pow = kernel_function("Pow", ew.pow_forward, ew.pow_backward)
Rpow = kernel_function("Rpow", ew.rpow_forward, ew.rpow_backward)
Exp = kernel_function("Exp", ew.exp_forward, ew.exp_backward)
Log = kernel_function("Log", ew.log_forward, ew.log_backward)
Sqrt = kernel_function("Sqrt", ew.sqrt_forward, ew.sqrt_backward)
Tanh = kernel_function("Tanh", ew.tanh_forward, ew.tanh_backward)
Sigmoid = kernel_function("Sigmoid", ew.sigmoid_forward, ew.sigmoid_backward)
Relu = kernel_function("Relu", ew.relu_forward, ew.relu_backward)
Gelu = kernel_function("Gelu", ew.gelu_forward, ew.gelu_backward)
Abs = kernel_function("Abs", ew.abs_forward, ew.abs_backward)
Clamp = kernel_function("Clamp", ew.clamp_forward, ew.clamp_backward)
Maximum = kernel_function("Maximum", ew.maximum_forward, ew.maximum_backward)
MaskedFill = kernel_function("MaskedFill", ew.masked_fill_forward, ew.masked_fill_backward)

Sum = kernel_function("Sum", rd.sum_forward, rd.sum_backward)
Mean = kernel_function("Mean", rd.mean_forward, rd.mean_backward)
Amax = kernel_function("Amax", rd.max_forward, rd.max_backward)
Var = kernel_function("Var", rd.var_forward, rd.var_backward)

Matmul = kernel_function("Matmul", mm.matmul_forward, mm.matmul_backward)
Bmm = kernel_function("Bmm", mm.bmm_forward, mm.bmm_backward)

Reshape = kernel_function("Reshape", sh.reshape_forward, sh.reshape_backward)
Permute = kernel_function("Permute", sh.permute_forward, sh.permute_backward)
Transpose = kernel_function("Transpose", sh.transpose_forward, sh.transpose_backward)
Expand = kernel_function("Expand", sh.expand_forward, sh.expand_backward)
GetItem = kernel_function("GetItem", sh.getitem_forward, sh.getitem_backward)
Gather = kernel_function("Gather", sh.gather_forward, sh.gather_backward)
Concat = kernel_function("Concat", sh.concat_forward, sh.concat_backward)
Stack = kernel_function("Stack", sh.stack_forward, sh.stack_backward)
Split = kernel_function("Split", sh.split_forward, sh.split_backward)


class Where(Function):
    """Function calling where_forward / where_backward. Written out rather than made by ``kernel_function``
    because the arguments come in another order: ``Where.apply(a, b, condition=mask)`` takes the two
    differentiable inputs positionally and the mask as an option, while the kernel takes
    ``where_forward(condition, a, b)`` (numpy's order)."""

    @staticmethod
    def forward(ctx, a, b, condition=None):
        out, ctx.cache = ew.where_forward(condition, a, b)
        return out

    @staticmethod
    def backward(ctx, dout):
        return ew.where_backward(dout, ctx.cache)
