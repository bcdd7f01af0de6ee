// Keys and the authorized-keys file: real key pairs from libzmq, real files (mode checked),
// and the parser's refusals by line number.

#include "core/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace zinc {
namespace {

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zinc-keys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(KeysTest, AKeyPairIsWrittenAsTwoFilesTheSecretOneUnreadableByOthers) {
  Result<CurveKeyPair> pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_TRUE(IsZ85Key(pair->public_key));
  EXPECT_TRUE(IsZ85Key(pair->secret_key));
  EXPECT_EQ(*CurvePublicKey(pair->secret_key), pair->public_key);
  const std::string name = dir_ + "/alice";
  ASSERT_TRUE(WriteKeyFiles(name, *pair).ok());
  struct stat st;
  ASSERT_EQ(stat((name + ".secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream pub(name + ".pub");
  std::string text((std::istreambuf_iterator<char>(pub)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, pair->public_key + "\n");
  EXPECT_EQ(*ReadKeyFile(name + ".pub"), pair->public_key);
  EXPECT_EQ(*ReadKeyFile(name + ".secret"), pair->secret_key);
  EXPECT_EQ(*KeyFromArgument(name + ".pub"), pair->public_key);
  EXPECT_EQ(*KeyFromArgument(pair->public_key), pair->public_key);
  // Never replaced.
  Status again = WriteKeyFiles(name, *GenerateCurveKeyPair());
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("exists"), std::string::npos) << again.message();
  EXPECT_EQ(*ReadKeyFile(name + ".secret"), pair->secret_key);
  // A secret key others may read is refused.
  chmod((name + ".secret").c_str(), 0644);
  Result<std::string> loose = ReadKeyFile(name + ".secret");
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(KeysTest, AFileThatHoldsNoKeyIsRefused) {
  const std::string path = dir_ + "/bad.pub";
  std::ofstream(path) << "not a key\n";
  EXPECT_FALSE(ReadKeyFile(path).ok());
  EXPECT_FALSE(ReadKeyFile(dir_ + "/missing.pub").ok());
  EXPECT_FALSE(IsZ85Key(std::string(40, ' ')));
  EXPECT_FALSE(IsZ85Key(std::string(39, 'a')));
}

TEST(AuthorizedKeysTest, RightsAreGlobsOverDocumentNames) {
  const std::string a = GenerateCurveKeyPair()->public_key;
  const std::string b = GenerateCurveKeyPair()->public_key;
  const std::string c = GenerateCurveKeyPair()->public_key;
  Result<AuthorizedKeys> keys =
      AuthorizedKeys::Parse("# zinc keys\n\n" + a + " alice write:* \n" + b +
                                " bob read:a* write:notes\r\n" + c + "  relay1 member read:*\n",
                            "keys");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->size(), 3u);
  const KeyRights* alice = keys->Find(a);
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_TRUE(alice->CanWrite("anything/at all"));
  EXPECT_TRUE(alice->CanRead("b"));
  EXPECT_FALSE(alice->member);
  const KeyRights* bob = keys->Find(b);
  ASSERT_NE(bob, nullptr);
  EXPECT_TRUE(bob->CanRead("abc"));
  EXPECT_FALSE(bob->CanRead("b"));
  EXPECT_FALSE(bob->CanWrite("abc"));
  EXPECT_TRUE(bob->CanWrite("notes"));
  EXPECT_TRUE(bob->CanRead("notes"));  // writing implies reading
  const KeyRights* relay = keys->Find(c);
  ASSERT_NE(relay, nullptr);
  EXPECT_TRUE(relay->member);
  EXPECT_EQ(keys->Find(GenerateCurveKeyPair()->public_key), nullptr);
}

TEST(AuthorizedKeysTest, ABadLineIsRefusedWithItsLineNumber) {
  const std::string a = GenerateCurveKeyPair()->public_key;
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {"# ok\n" + a + " alice rd:*\n", "keys:2: 'rd:*' is not a right"},
      {a + " alice\n", "keys:1: a key needs a name and at least one right"},
      {"\n\nnotakey alice read:*\n", "keys:3: 'notakey' is not a public key"},
      {a + " alice read:\n", "keys:1: 'read:' is not a right"},
      {a + " alice read:*\n" + a + " again write:*\n", "keys:2: the key of 'again' is listed"},
  };
  for (const Case& c : cases) {
    Result<AuthorizedKeys> keys = AuthorizedKeys::Parse(c.text, "keys");
    ASSERT_FALSE(keys.ok()) << c.text;
    EXPECT_EQ(keys.status().message().rfind(c.want, 0), 0u) << keys.status().message();
  }
  EXPECT_EQ(AuthorizedKeys::Parse("", "keys")->size(), 0u);
  EXPECT_FALSE(AuthorizedKeys::Load("/nonexistent/keys").ok());
}

}  // namespace
}  // namespace zinc
