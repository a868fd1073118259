#include "broker-core/metadata/metadata_store.h"
#include "broker-core/metadata/topic_registry.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace geomirror::metadata {
namespace {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "metadata-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The error an admin operation failed with; fails the test if it succeeded.
admin_error failure_of(const admin_result& r) {
  if (r) {
    ADD_FAILURE() << "the operation succeeded";
    return {};
  }
  return r.error();
}

TEST(MetadataStore, TopicsAndSettingsSurviveReopen) {
  temp_dir dir;
  {
    metadata_store store(dir.path() / "metadata.db");
    ASSERT_TRUE(store.put_setting("cluster.id", "east"));
    stored_topic t{"orders", {}, 3, {{"retention.ms", "1000"}}, 42};
    t.id[0] = 9;
    ASSERT_TRUE(store.insert_topic(t));
    ASSERT_TRUE(store.insert_topic({"audit", {}, 1, {}, 43}));
    ASSERT_TRUE(store.set_partition_count("orders", 5));
    ASSERT_TRUE(store.set_topic_configs("orders", {{"segment.bytes", "4096"}}));
    ASSERT_FALSE(store.insert_topic({"audit", {}, 1, {}, 44})) << "duplicate names must fail";
    ASSERT_TRUE(store.delete_topic("audit"));
  }
  metadata_store store(dir.path() / "metadata.db");
  EXPECT_EQ(store.get_setting("cluster.id").value(), std::optional<std::string>("east"));
  EXPECT_EQ(store.get_setting("missing").value(), std::nullopt);
  auto topics = store.load_topics().value();
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].name, "orders");
  EXPECT_EQ(topics[0].id[0], 9);
  EXPECT_EQ(topics[0].partitions, 5);
  EXPECT_EQ(topics[0].created_ms, 42);
  EXPECT_EQ(topics[0].configs, (std::map<std::string, std::string, std::less<>>{{"segment.bytes", "4096"}}));
}

TEST(TopicName, KafkaRules) {
  EXPECT_TRUE(validate_topic_name("orders.v2_EU-1"));
  EXPECT_FALSE(validate_topic_name(""));
  EXPECT_FALSE(validate_topic_name("."));
  EXPECT_FALSE(validate_topic_name(".."));
  EXPECT_FALSE(validate_topic_name("with space"));
  EXPECT_FALSE(validate_topic_name("slash/topic"));
  EXPECT_FALSE(validate_topic_name(std::string(250, 'a')));
  EXPECT_TRUE(validate_topic_name(std::string(249, 'a')));
}

class TopicRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_ = std::make_unique<metadata_store>(dir_.path() / "metadata.db");
    storage::log_manager_config c;
    c.data_dir = dir_.path();
    c.background_thread = false;
    logs_ = std::move(storage::log_manager::start(c)).value();
    registry_ = std::make_unique<topic_registry>(*store_, *logs_, broker_);
    registry_->load();
  }
  void reopen() {
    registry_.reset();
    logs_->stop();
    logs_.reset();
    store_.reset();
    open();
  }
  temp_dir dir_;
  config::broker_config broker_ = config::broker_config::parse("log.segment.bytes=65536\n", "t");
  std::unique_ptr<metadata_store> store_;
  std::unique_ptr<storage::log_manager> logs_;
  std::unique_ptr<topic_registry> registry_;
};

TEST_F(TopicRegistryTest, CreateFindAndReload) {
  ASSERT_TRUE(registry_->create_topic("orders", 3, {{"retention.ms", "60000"}}, false));
  auto t = registry_->find("orders");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->partition_count(), 3);
  EXPECT_EQ(t->log.retention_ms, 60000);
  EXPECT_EQ(t->log.segment_bytes, 65536);
  EXPECT_EQ(registry_->find(t->id), t);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "orders-2"));
  auto id = t->id;

  reopen();
  auto again = registry_->find("orders");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->partition_count(), 3);
  EXPECT_EQ(again->overrides.at("retention.ms"), "60000");
}

TEST_F(TopicRegistryTest, ValidateOnlyChangesNothing) {
  ASSERT_TRUE(registry_->create_topic("dry", 2, {}, true));
  EXPECT_FALSE(registry_->find("dry"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "dry-0"));
}

TEST_F(TopicRegistryTest, RefusesBadRequests) {
  ASSERT_TRUE(registry_->create_topic("a.b", 1, {}, false));
  EXPECT_EQ(failure_of(registry_->create_topic("a.b", 1, {}, false)).code, errc::topic_exists);
  EXPECT_EQ(failure_of(registry_->create_topic("a_b", 1, {}, false)).code, errc::invalid_topic_name);
  EXPECT_EQ(failure_of(registry_->create_topic("bad name", 1, {}, false)).code, errc::invalid_topic_name);
  EXPECT_EQ(failure_of(registry_->create_topic("zero", 0, {}, false)).code, errc::invalid_partitions);
  auto bad = failure_of(registry_->create_topic("cfg", 1, {{"retention.ms", "soon"}}, false));
  EXPECT_EQ(bad.code, errc::invalid_config);
  EXPECT_NE(bad.message.find("retention.ms"), std::string::npos);
  EXPECT_EQ(failure_of(registry_->delete_topic("nope")).code, errc::unknown_topic);
  EXPECT_EQ(failure_of(registry_->create_partitions("a.b", 1, false)).code, errc::invalid_partitions);
}

TEST_F(TopicRegistryTest, DeleteRemovesDirsAndSurvivesReopen) {
  ASSERT_TRUE(registry_->create_topic("gone", 2, {}, false));
  ASSERT_TRUE(registry_->delete_topic("gone"));
  EXPECT_FALSE(registry_->find("gone"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "gone-0"));
  reopen();
  EXPECT_FALSE(registry_->find("gone"));
  // A topic of the same name later starts empty with a new id.
  ASSERT_TRUE(registry_->create_topic("gone", 1, {}, false));
  EXPECT_EQ(registry_->find("gone")->partition(0)->log_end_offset(), 0);
}

TEST_F(TopicRegistryTest, AddPartitionsKeepsExistingLogs) {
  ASSERT_TRUE(registry_->create_topic("grow", 1, {}, false));
  auto first = registry_->find("grow")->partition(0);
  ASSERT_TRUE(registry_->create_partitions("grow", 4, false));
  auto grown = registry_->find("grow");
  EXPECT_EQ(grown->partition_count(), 4);
  EXPECT_EQ(grown->partition(0), first);
  reopen();
  EXPECT_EQ(registry_->find("grow")->partition_count(), 4);
}

TEST_F(TopicRegistryTest, StartupRemovesDirsNoTopicOwns) {
  std::filesystem::create_directories(dir_.path() / "orphan-0");
  reopen();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "orphan-0"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "metadata.db"));
}

}  // namespace
}  // namespace geomirror::metadata
