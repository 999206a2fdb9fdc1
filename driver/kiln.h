#pragma once
// The one header a Kiln application includes.

#include "common/codec.h"
#include "common/words.h"
#include "driver/context.h"
#include "driver/dataset.h"
#include "worker/runtime/emit.h"
#include "worker/runtime/to_text.h"
