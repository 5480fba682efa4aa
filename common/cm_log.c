/* cm_log.c - placeholder until written. */
#include "cm_log.h"
