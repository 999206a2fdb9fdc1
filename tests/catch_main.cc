#define CATCH_CONFIG_MAIN
#include "tests/kiln_catch.h"
