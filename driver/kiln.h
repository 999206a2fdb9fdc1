#pragma once
// The one header a Kiln application includes.

#include "common/codec.h"
#include "common/words.h"
#include "driver/accumulator.h"
#include "driver/context.h"
#include "driver/dataset.h"
#include "runtime/emit.h"
#include "runtime/partition_input.h"
#include "runtime/to_text.h"
