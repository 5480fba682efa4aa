/* cm_config.c - placeholder until written. */
#include "cm_config.h"
