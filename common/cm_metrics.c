/* cm_metrics.c - placeholder until written. */
#include "cm_metrics.h"
