#include <gtest/gtest.h>

#include "lunadb/error.hpp"
#include "migrate/revision_set.hpp"

namespace lunadb::migrate {
namespace {

Revision rev(std::string id, std::vector<std::string> parents, std::string date) {
  Revision r;
  r.id = std::move(id);
  r.down_revisions = std::move(parents);
  r.message = "m " + r.id;
  r.create_date = std::move(date);
  r.source = r.id + ".rev";
  return r;
}

// a1 -> a2 -> a3 (head)          linear
//        \-> b1 -> b2 (head)     a branch from a2
RevisionSet branched() {
  return RevisionSet({rev("a1", {}, "1"), rev("a2", {"a1"}, "2"), rev("a3", {"a2"}, "3"), rev("b1", {"a2"}, "4"),
                      rev("b2", {"b1"}, "5")},
                     "test");
}

RevisionSet merged() {
  return RevisionSet({rev("a1", {}, "1"), rev("a2", {"a1"}, "2"), rev("a3", {"a2"}, "3"), rev("b1", {"a2"}, "4"),
                      rev("b2", {"b1"}, "5"), rev("m1", {"a3", "b2"}, "6")},
                     "test");
}

void expect_error(const std::function<void()>& f, ErrorKind kind, const std::string& part) {
  try {
    f();
    FAIL() << "no error; expected " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(RevisionSet, HeadsBasesAndOrder) {
  auto set = branched();
  EXPECT_EQ(set.heads(), (std::vector<std::string>{"a3", "b2"}));
  EXPECT_EQ(set.bases(), std::vector<std::string>{"a1"});
  EXPECT_TRUE(set.is_branch_point("a2"));
  EXPECT_EQ(set.topological({"a1", "a2", "a3", "b1", "b2"}), (std::vector<std::string>{"a1", "a2", "a3", "b1", "b2"}));
  EXPECT_EQ(set.newest_first().front(), "b2");
  EXPECT_EQ(set.heads_of({"a1", "a2", "b1"}), std::vector<std::string>{"b1"});
  EXPECT_EQ(set.heads_of({"a1", "a2", "a3", "b1"}), (std::vector<std::string>{"a3", "b1"}));
}

TEST(RevisionSet, PartialIds) {
  RevisionSet set({rev("ae1027a6acf0", {}, "1"), rev("ae1127000000", {"ae1027a6acf0"}, "2")}, "test");
  EXPECT_EQ(set.resolve_id("ae10"), "ae1027a6acf0");
  EXPECT_EQ(set.resolve_id("ae1127000000"), "ae1127000000");
  expect_error([&] { set.resolve_id("ae1"); }, ErrorKind::usage, "Multiple revisions start with 'ae1': ae1027a6acf0, ae1127000000");
  expect_error([&] { set.resolve_id("ff"); }, ErrorKind::not_found, "No such revision or branch 'ff'");
}

TEST(RevisionSet, HeadIsRefusedWithSeveralHeads) {
  auto set = branched();
  expect_error([&] { set.upgrade_goal("head", {}); }, ErrorKind::migration, "Multiple head revisions are present for given argument 'head'");
  EXPECT_EQ(set.upgrade_goal("heads", {}).size(), 5u);
  EXPECT_EQ(set.upgrade_goal("b1", {}), (RevisionIds{"a1", "a2", "b1"}));
}

TEST(RevisionSet, RelativeTargets) {
  auto set = branched();
  EXPECT_EQ(set.upgrade_goal("+1", {}), RevisionIds{"a1"});
  EXPECT_EQ(set.upgrade_goal("+2", {}), (RevisionIds{"a1", "a2"}));
  expect_error([&] { set.upgrade_goal("+3", {}); }, ErrorKind::migration, "ambiguous");
  EXPECT_EQ(set.upgrade_goal("a1+1", {}), (RevisionIds{"a1", "a2"}));
  EXPECT_EQ(set.upgrade_goal("b1+1", {}), (RevisionIds{"a1", "a2", "b1", "b2"}));
  expect_error([&] { set.upgrade_goal("a3+1", {}); }, ErrorKind::migration, "didn't produce 1 migrations");
  EXPECT_EQ(set.downgrade_removal("-1", {"a1", "a2", "a3"}), RevisionIds{"a3"});
  EXPECT_EQ(set.downgrade_removal("-3", {"a1", "a2", "a3"}), (RevisionIds{"a1", "a2", "a3"}));
  expect_error([&] { set.downgrade_removal("-4", {"a1", "a2", "a3"}); }, ErrorKind::migration, "didn't produce 4 migrations");
  expect_error([&] { set.downgrade_removal("-1", {"a1", "a2", "a3", "b1"}); }, ErrorKind::migration, "ambiguous");
  EXPECT_EQ(set.downgrade_removal("a3-1", {"a1", "a2", "a3"}), RevisionIds{"a3"});
}

TEST(RevisionSet, DowngradeToRevisionKeepsOtherBranches) {
  auto set = branched();
  RevisionIds all{"a1", "a2", "a3", "b1", "b2"};
  EXPECT_EQ(set.downgrade_removal("b1", all), RevisionIds{"b2"});
  EXPECT_EQ(set.downgrade_removal("a2", all), (RevisionIds{"a3", "b1", "b2"}));
  EXPECT_EQ(set.downgrade_removal("base", all), all);
  expect_error([&] { set.downgrade_removal("b2", {"a1", "a2"}); }, ErrorKind::migration, "is not applied");
}

TEST(RevisionSet, MergeClosesBranches) {
  auto set = merged();
  EXPECT_EQ(set.heads(), std::vector<std::string>{"m1"});
  EXPECT_EQ(set.upgrade_goal("head", {}).size(), 6u);
  EXPECT_EQ(set.heads_of(set.with_ancestors({"m1"})), std::vector<std::string>{"m1"});
}

TEST(RevisionSet, RejectsBrokenGraphs) {
  expect_error([] { RevisionSet({rev("a1", {"zz"}, "1")}, "test"); }, ErrorKind::migration, "down_revision zz is not a known revision");
  expect_error([] { RevisionSet({rev("a1", {}, "1"), rev("a1", {}, "2")}, "test"); }, ErrorKind::migration, "revision a1 is defined twice");
  expect_error([] { RevisionSet({rev("a1", {"a2"}, "1"), rev("a2", {"a1"}, "2")}, "test"); }, ErrorKind::migration, "cycle");
}

TEST(RevisionSet, MissingDirectoryNamesTheSetting) {
  expect_error([] { RevisionSet::from_directory("/nonexistent/lunadb/revisions"); }, ErrorKind::config, "LUNADB_MIGRATIONS_DIR");
}

TEST(RevisionSet, ParseRelative) {
  auto r = parse_relative("ae10+2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base, "ae10");
  EXPECT_EQ(r->offset, 2);
  EXPECT_EQ(parse_relative("-3")->offset, -3);
  EXPECT_FALSE(parse_relative("ae10"));
  EXPECT_FALSE(parse_relative("a+b"));
}

}  // namespace
}  // namespace lunadb::migrate
