"""``prefetch_row(x, i)``: ask the CPU to start loading row ``i`` of a C-contiguous 2-D array.

Why: with pruning, the rows that still need a distance are scattered over the array, and
each one is a fresh DRAM stream the hardware prefetcher only picks up late. Prefetching the
next row to compute while the current one is summed about halves the cost of such passes.
It is a hint (``llvm.prefetch``): no effect on results. A no-op without Numba.
"""

from __future__ import annotations

from typing import Any

from ._numba_policy import NUMBA_ENABLED

__all__ = ["prefetch_row"]


def prefetch_row(x: Any, i: int) -> None:  # pragma: no cover - replaced below when Numba is on
    """No-op fallback."""


if NUMBA_ENABLED:
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    _LINE = 64

    @intrinsic
    def prefetch_row(typingctx, arr, i):  # type: ignore[no-redef]  # noqa: F811
        sig = types.void(arr, i)

        def codegen(context, builder, signature, args):
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            intp = lambda v: context.get_constant(types.intp, v)  # noqa: E731
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], intp(0)])
            i8p = ir.IntType(8).as_pointer()
            base = builder.bitcast(ptr, i8p)
            ncols = cgutils.unpack_tuple(builder, ary.shape)[1]
            nbytes = builder.mul(ncols, intp(context.get_abi_sizeof(context.get_data_type(aryty.dtype))))
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            with cgutils.for_range_slice(builder, intp(0), nbytes, intp(_LINE)) as (off, _):
                # read access, high temporal locality, data cache
                builder.call(fn, [builder.gep(base, [off]), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return sig, codegen
