/* cm_store.c - placeholder until written. */
#include "cm_store.h"
