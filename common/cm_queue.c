/* cm_queue.c - placeholder until written. */
#include "cm_queue.h"
