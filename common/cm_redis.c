/* cm_redis.c - placeholder until written. */
#include "cm_redis.h"
