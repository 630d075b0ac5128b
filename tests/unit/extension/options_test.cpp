#include "pgcqrs/options.hpp"

#include <gtest/gtest.h>

#include <string>

using pgcqrs::OptionParser;

TEST(Options, DefaultsIncludeEverything) {
  OptionParser p;
  EXPECT_TRUE(p.options().include_xid);
  EXPECT_TRUE(p.options().include_lsn);
  EXPECT_TRUE(p.options().include_timestamps);
}

TEST(Options, SwitchesTakePostgresBooleans) {
  OptionParser p;
  EXPECT_TRUE(p.add("include-xid", "off"));
  EXPECT_TRUE(p.add("include-lsn", "0"));
  EXPECT_TRUE(p.add("include-timestamps", "FALSE"));
  EXPECT_TRUE(p.add("format-version", "1"));
  EXPECT_FALSE(p.options().include_xid);
  EXPECT_FALSE(p.options().include_lsn);
  EXPECT_FALSE(p.options().include_timestamps);
}

// Every switch defaults to true, so a value-less switch's "true" cannot be told from the
// default by the result alone: it must also be taken as given (a repeat is refused), for
// each switch, and an explicit false beside it must stay false.
TEST(Options, SwitchWithoutValueMeansTrue) {
  for (const char* name : {"include-xid", "include-lsn", "include-timestamps"}) {
    OptionParser p;
    EXPECT_TRUE(p.add("include-xid", name == std::string("include-xid") ? nullptr : "off"));
    EXPECT_TRUE(p.add("include-lsn", name == std::string("include-lsn") ? nullptr : "off"));
    EXPECT_TRUE(p.add("include-timestamps", name == std::string("include-timestamps") ? nullptr : "off"));
    const auto& o = p.options();
    EXPECT_EQ(o.include_xid, name == std::string("include-xid")) << name;
    EXPECT_EQ(o.include_lsn, name == std::string("include-lsn")) << name;
    EXPECT_EQ(o.include_timestamps, name == std::string("include-timestamps")) << name;
    EXPECT_FALSE(p.add(name, nullptr)) << name;
    EXPECT_EQ(p.error(), "option \"" + std::string(name) + "\" is given more than once");
  }
}

TEST(Options, UnknownOptionListsTheValidOnes) {
  OptionParser p;
  EXPECT_FALSE(p.add("include-xids", "1"));
  EXPECT_EQ(p.error(),
            "unknown option \"include-xids\"; valid options are: format-version, include-xid, "
            "include-lsn, include-timestamps, framing");
}

TEST(Options, RejectsRepeatsBadBooleansAndOtherVersions) {
  OptionParser a;
  EXPECT_TRUE(a.add("include-lsn", "1"));
  EXPECT_FALSE(a.add("include-lsn", "1"));
  EXPECT_EQ(a.error(), "option \"include-lsn\" is given more than once");
  OptionParser b;
  EXPECT_FALSE(b.add("include-xid", "maybe"));
  EXPECT_EQ(b.error(), "option \"include-xid\" needs a boolean, not \"maybe\"");
  OptionParser c;
  EXPECT_FALSE(c.add("format-version", "2"));
  EXPECT_EQ(c.error(), "format-version \"2\" is not supported; this plugin speaks format-version 1");
}

TEST(Options, FramingIsMessageOrTransaction) {
  OptionParser p;
  EXPECT_FALSE(p.options().transaction_framing);
  EXPECT_TRUE(p.add("framing", "transaction"));
  EXPECT_TRUE(p.options().transaction_framing);
  EXPECT_FALSE(p.add("framing", "message"));
  EXPECT_EQ(p.error(), "option \"framing\" is given more than once");
  OptionParser q;
  EXPECT_TRUE(q.add("framing", "message"));
  EXPECT_FALSE(q.options().transaction_framing);
  OptionParser r;
  EXPECT_FALSE(r.add("framing", "batch"));
  EXPECT_EQ(r.error(), "framing \"batch\" is not one of message, transaction");
  OptionParser s;
  EXPECT_FALSE(s.add("framing", nullptr));
  EXPECT_EQ(s.error(), "framing \"\" is not one of message, transaction");
}
