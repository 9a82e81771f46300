#pragma once
// A feature-rich schema for the dialect tests (support/dialect_schema.cpp says why).
#include "schema/model.hpp"

namespace lunadb::test {

const schema::Schema& dialect_test_schema();

}  // namespace lunadb::test
