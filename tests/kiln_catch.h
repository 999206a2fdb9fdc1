#pragma once
// The one place tests include Catch2 from, so that a move to Catch2 v3 is one line.
#include <catch2/catch.hpp>
