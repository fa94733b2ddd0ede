/* fault.h: the test hooks of the library (library-internal), read from the environment and
 * compiled in only where meson defines NVMM_FAULT_HOOKS (every build but a release one:
 * src/meson.build). Without it each hook is off and costs nothing. */
#ifndef NVMM_FAULT_H
#define NVMM_FAULT_H

/* NVMM_FAULT_NONFINITE_AT=K (tests/mpi/test_fit_mpi.c): the M-step of the K-th (1-based)
 * iteration of every fit yields a NaN, to exercise the divergence guard; 0 when unset. Read at
 * each fit's creation. */
int nvmm__fault_nonfinite_at(void);

/* NVMM_FAULT_CKPT_ABORT=K (tests/mpi/faults.sh): 1 when the checkpoint this process starts to
 * write now is its K-th, which the writer then aborts half-way (a crash or power cut at the
 * worst moment; the previous checkpoint must stay readable). The count is per process. */
int nvmm__fault_ckpt_abort(void);

/* NVMM_FAULT_DUPS_HASH_BITS=B (tests/mpi/test_dups_mpi.c): the row hash of
 * nvmm_data_duplicates keeps only its low B bits (0: every row hashes alike), so that unequal
 * rows collide and must be told apart by their values; 64 when unset. Read at each call. */
int nvmm__fault_dups_hash_bits(void);

/* NVMM_FAULT_DUPS_CHUNK_ROWS=R (tests/mpi/test_dups_mpi.c): nvmm_data_duplicates reads at most
 * R rows per chunk, so that small data take many rounds; 0 when unset. */
long nvmm__fault_dups_chunk_rows(void);

#endif
