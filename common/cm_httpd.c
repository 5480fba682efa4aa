/* cm_httpd.c - placeholder until written. */
#include "cm_httpd.h"
