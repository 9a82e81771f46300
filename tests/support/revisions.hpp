#pragma once
// The head of the revisions compiled into lunadb, for tests that check a database is at the head
// without naming an id (revisions added on other branches move the head).

#include <string>

namespace lunadb::test {

// The single head of the embedded revisions; fails (throws) when there are several.
std::string head_revision();

}  // namespace lunadb::test
