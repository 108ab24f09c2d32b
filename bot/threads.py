"""One BLAS thread on the query path.

A question's matrix products are tiny (a dozen token vectors against a few hundred, one vector
against a few thousand). OpenBLAS still hands them to its worker threads, and waking those costs more
than the product: measured on this 2-core machine with other work running, ``Retriever.features`` took
a median 8.0 ms with OpenBLAS's default two threads against 0.64 ms with one. The limit is set once,
process-wide, when a :class:`bot.pipeline.Pipeline` opens; index building encodes with torch or
onnxruntime, whose thread pools this does not touch.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_done = False


def single_threaded_blas() -> None:
    """Limit the BLAS libraries numpy and FAISS load to one thread (torch's, used to build indexes, and
    onnxruntime's pool are left alone); idempotent, a no-op without threadpoolctl."""
    global _done
    if _done:
        return
    _done = True
    try:
        import numpy as np
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with the dependencies
        return
    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # make sure numpy's BLAS is loaded before looking for it
    controller = ThreadpoolController()
    limited = [lib for lib in controller.lib_controllers if lib.user_api == "blas" and "torch" not in lib.filepath]
    for lib in limited:
        lib.set_num_threads(1)
    log.debug("BLAS limited to one thread: %s", ", ".join(lib.filepath for lib in limited))
