/* nvmm/sample.h: exact samplers for the subordinators and the mixtures, driven by seeded GSL
 * random number generators. Streams are derived from (seed, stream index) so that a block of
 * rows draws the same numbers whatever rank draws it. */
#ifndef NVMM_SAMPLE_H
#define NVMM_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "nvmm/model.h"
#include "nvmm/status.h"

/* Allocates a GSL generator seeded deterministically from (seed, stream): distinct streams of
 * one seed are decorrelated by a 64-bit mixing function. Free with gsl_rng_free.
 * Errors: NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_rng_stream(uint64_t seed, uint64_t stream,
                                                       gsl_rng **out);

/* Reseeds an existing generator as nvmm_rng_stream would. */
NVMM_EXTERN void nvmm_rng_reseed(gsl_rng *rng, uint64_t seed, uint64_t stream);

/* n draws of the subordinator into y. GIG by Devroye's (2014) exact rejection method on log y;
 * InverseGaussian by Michael-Schucany-Haas; Gamma and InverseGamma by GSL's Marsaglia-Tsang.
 * Errors: NVMM_EDOM (invalid parameters), NVMM_EINVAL (NULL pointer, unknown kind),
 * NVMM_ESANITY (GIG rejection loop exhausted: a bug, never an unaccepted draw). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_sample(const nvmm_sub *s, gsl_rng *rng, size_t n,
                                                       double *y);

/* n joint draws: x (n x d row-major) and, if y is not NULL, the latent subordinator values
 * (n). X = mu + gamma Y + sqrt(Y) L Z; for a factor model (m->factor set: sigma and chol are
 * not read) X = mu + gamma Y + sqrt(Y) (F z + sqrt(D) e), z ~ N(0, I_r), e ~ N(0, I_d), in
 * O(d r) per row. Allocates nothing (uses x rows as scratch). Errors: NVMM_EDOM, NVMM_EINVAL,
 * NVMM_ESANITY. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_sample(const nvmm_model *m, gsl_rng *rng,
                                                         size_t n, double *x, double *y);

#endif
