/* nvmm.h: umbrella header of the nvmm library. */
#ifndef NVMM_H
#define NVMM_H

#include "nvmm/agree.h"
#include "nvmm/bessel.h"
#include "nvmm/dups.h"
#include "nvmm/estep.h"
#include "nvmm/factor.h"
#include "nvmm/fit.h"
#include "nvmm/gig.h"
#include "nvmm/incremental.h"
#include "nvmm/io.h"
#include "nvmm/marginal.h"
#include "nvmm/model.h"
#include "nvmm/mstep.h"
#include "nvmm/pchol.h"
#include "nvmm/penalty.h"
#include "nvmm/sample.h"
#include "nvmm/select.h"
#include "nvmm/status.h"
#include "nvmm/stderr.h"
#include "nvmm/version.h"
#include "nvmm/xsum.h"

#endif
