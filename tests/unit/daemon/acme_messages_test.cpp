#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "acme/messages.h"

using namespace ferry::acme;

// ---- builders -------------------------------------------------------------------------------

TEST_CASE("acme messages: newAccount payload", "[acme][messages]") {
  auto p = new_account_payload({"cert-admin@example.org", "mailto:admin@example.org"}, true);
  REQUIRE(p);
  CHECK(*p == R"({"contact":["mailto:cert-admin@example.org","mailto:admin@example.org"],"termsOfServiceAgreed":true})");
  CHECK(*new_account_payload({}, true) == R"({"termsOfServiceAgreed":true})");
  CHECK(*new_account_payload({"a@b.example"}, false) == R"({"contact":["mailto:a@b.example"],"termsOfServiceAgreed":false})");
  for (const char* bad : {"", "nobody", "@example.org", "a@", "a@b@c", "a b@example.org", "a,b@example.org",
                          "a@example.org?subject=x", "a\"@example.org", "mailto:"}) {
    INFO(bad);
    CHECK_FALSE(new_account_payload({bad}, true));
  }
  CHECK(find_account_payload() == R"({"onlyReturnExisting":true})");
}

TEST_CASE("acme messages: newOrder, finalize and challenge payloads", "[acme][messages]") {
  auto p = new_order_payload({"www.example.org", "example.org"});
  REQUIRE(p);
  CHECK(*p == R"({"identifiers":[{"type":"dns","value":"www.example.org"},{"type":"dns","value":"example.org"}]})");
  CHECK(*new_order_payload({"*.example.org"}) == R"({"identifiers":[{"type":"dns","value":"*.example.org"}]})");
  CHECK_FALSE(new_order_payload({}));
  CHECK_FALSE(new_order_payload({"example.org", "example.org"}));
  CHECK_FALSE(new_order_payload({"exa\"mple.org"}));
  CHECK_FALSE(new_order_payload({"EXAMPLE.org"}));
  CHECK(finalize_payload(std::string("\x30\x82\xfb\xff", 4)) == R"({"csr":"MIL7_w"})");
  CHECK(challenge_response_payload() == "{}");
}

// ---- parsers: the RFC 8555 examples ---------------------------------------------------------

TEST_CASE("acme messages: directory (RFC 8555 §7.1.1)", "[acme][messages]") {
  const char* doc = R"({
     "newNonce": "https://example.com/acme/new-nonce",
     "newAccount": "https://example.com/acme/new-account",
     "newOrder": "https://example.com/acme/new-order",
     "newAuthz": "https://example.com/acme/new-authz",
     "revokeCert": "https://example.com/acme/revoke-cert",
     "keyChange": "https://example.com/acme/key-change",
     "meta": {
       "termsOfService": "https://example.com/acme/terms/2017-5-30",
       "website": "https://www.example.com/",
       "caaIdentities": ["example.com"],
       "externalAccountRequired": false
     }
   })";
  auto d = parse_directory(doc);
  REQUIRE(d);
  CHECK(d->new_nonce == "https://example.com/acme/new-nonce");
  CHECK(d->new_account == "https://example.com/acme/new-account");
  CHECK(d->new_order == "https://example.com/acme/new-order");
  CHECK(d->revoke_cert == "https://example.com/acme/revoke-cert");
  CHECK(d->key_change == "https://example.com/acme/key-change");
  CHECK_FALSE(d->renewal_info);
  CHECK(d->terms_of_service == std::optional<std::string>("https://example.com/acme/terms/2017-5-30"));
  CHECK_FALSE(d->external_account_required);

  // ARI and EAB as Let's Encrypt / Pebble advertise them; unknown members are ignored.
  auto ari = parse_directory(R"({"newNonce":"n","newAccount":"a","newOrder":"o","renewalInfo":"https://ca/ari",)"
                             R"("Xrandom":"x","meta":{"externalAccountRequired":true}})");
  REQUIRE(ari);
  CHECK(ari->renewal_info == std::optional<std::string>("https://ca/ari"));
  CHECK(ari->external_account_required);

  CHECK_FALSE(parse_directory(R"({"newNonce":"n","newAccount":"a"})"));                  // no newOrder
  CHECK_FALSE(parse_directory(R"({"newNonce":1,"newAccount":"a","newOrder":"o"})"));    // wrong type
  CHECK_FALSE(parse_directory(R"({"newNonce":"n","newAccount":"a","newOrder":"o","meta":[]})"));
  CHECK_FALSE(parse_directory(R"(["newNonce"])"));
  CHECK_FALSE(parse_directory(R"({"newNonce":"n",})"));
}

TEST_CASE("acme messages: account (RFC 8555 §7.1.2)", "[acme][messages]") {
  const char* doc = R"({
     "status": "valid",
     "contact": [
       "mailto:cert-admin@example.org",
       "mailto:admin@example.org"
     ],
     "termsOfServiceAgreed": true,
     "orders": "https://example.com/acme/orders/rzGoeA"
   })";
  auto a = parse_account(doc);
  REQUIRE(a);
  CHECK(a->status == "valid");
  CHECK(a->contact == std::vector<std::string>{"mailto:cert-admin@example.org", "mailto:admin@example.org"});
  CHECK(a->orders == std::optional<std::string>("https://example.com/acme/orders/rzGoeA"));
  CHECK_FALSE(parse_account(R"({"status":"happy"})"));
  CHECK_FALSE(parse_account(R"({"status":"valid","contact":"mailto:a@b"})"));
}

TEST_CASE("acme messages: order (RFC 8555 §7.1.3)", "[acme][messages]") {
  const char* doc = R"({
     "status": "valid",
     "expires": "2016-01-20T14:09:07.99Z",

     "identifiers": [
       { "type": "dns", "value": "www.example.org" },
       { "type": "dns", "value": "example.org" }
     ],

     "notBefore": "2016-01-01T00:00:00Z",
     "notAfter": "2016-01-08T00:00:00Z",

     "authorizations": [
       "https://example.com/acme/authz/PAniVnsZcis",
       "https://example.com/acme/authz/r4HqLzrSrpI"
     ],

     "finalize": "https://example.com/acme/order/TOlocE8rfgo/finalize",

     "certificate": "https://example.com/acme/cert/mAt3xBGaobw"
   })";
  auto o = parse_order(doc);
  REQUIRE(o);
  CHECK(o->status == "valid");
  CHECK(o->expires == std::optional<std::string>("2016-01-20T14:09:07.99Z"));
  REQUIRE(o->identifiers.size() == 2);
  CHECK(o->identifiers[0].type == "dns");
  CHECK(o->identifiers[0].value == "www.example.org");
  CHECK(o->identifiers[1].value == "example.org");
  CHECK(o->authorizations ==
        std::vector<std::string>{"https://example.com/acme/authz/PAniVnsZcis", "https://example.com/acme/authz/r4HqLzrSrpI"});
  CHECK(o->finalize == "https://example.com/acme/order/TOlocE8rfgo/finalize");
  CHECK(o->certificate == std::optional<std::string>("https://example.com/acme/cert/mAt3xBGaobw"));
  CHECK_FALSE(o->error);

  auto failed = parse_order(R"({"status":"invalid","identifiers":[{"type":"dns","value":"example.org"}],)"
                            R"("authorizations":["https://ca/authz/1"],"finalize":"https://ca/fin",)"
                            R"("error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"no \u0022TXT\u0022","status":403}})");
  REQUIRE(failed);
  CHECK(failed->status == "invalid");
  REQUIRE(failed->error);
  CHECK(failed->error->type == "urn:ietf:params:acme:error:unauthorized");
  CHECK(failed->error->detail == "no \"TXT\"");
  CHECK(failed->error->status == std::optional<int>(403));
  CHECK_FALSE(failed->certificate);

  CHECK_FALSE(parse_order(R"({"status":"done","identifiers":[],"authorizations":[],"finalize":"f"})"));
  CHECK_FALSE(parse_order(R"({"status":"pending","identifiers":[],"authorizations":[],"finalize":7})"));
  CHECK_FALSE(parse_order(R"({"status":"pending","identifiers":[],"finalize":"f"})"));
  CHECK_FALSE(parse_order(R"({"status":"pending","identifiers":[{"type":"dns"}],"authorizations":[],"finalize":"f"})"));
  CHECK_FALSE(parse_order(R"({"status":"pending","identifiers":[],"authorizations":[1],"finalize":"f"})"));
  CHECK_FALSE(parse_order(R"({"status":"pending","identifiers":[],"authorizations":[],"finalize":"f","error":"x"})"));
}

TEST_CASE("acme messages: authorization (RFC 8555 §7.1.4)", "[acme][messages]") {
  const char* doc = R"({
     "status": "valid",
     "expires": "2015-03-01T14:09:07.99Z",

     "identifier": {
       "type": "dns",
       "value": "www.example.org"
     },

     "challenges": [
       {
         "url": "https://example.com/acme/chall/prV_B7yEyA4",
         "type": "http-01",
         "status": "valid",
         "token": "DGyRejmCefe7v4NfDGDKfA",
         "validated": "2014-12-01T12:05:58.16Z"
       }
     ],

     "wildcard": false
   })";
  auto a = parse_authorization(doc);
  REQUIRE(a);
  CHECK(a->status == "valid");
  CHECK(a->identifier.type == "dns");
  CHECK(a->identifier.value == "www.example.org");
  CHECK(a->expires == std::optional<std::string>("2015-03-01T14:09:07.99Z"));
  CHECK_FALSE(a->wildcard);
  REQUIRE(a->challenges.size() == 1);
  const Challenge& c = a->challenges[0];
  CHECK(c.type == "http-01");
  CHECK(c.url == "https://example.com/acme/chall/prV_B7yEyA4");
  CHECK(c.status == "valid");
  CHECK(c.token == "DGyRejmCefe7v4NfDGDKfA");
  CHECK(c.validated == std::optional<std::string>("2014-12-01T12:05:58.16Z"));
  CHECK(a->find_challenge("http-01") == &a->challenges[0]);
  CHECK(a->find_challenge("tls-alpn-01") == nullptr);
}

TEST_CASE("acme messages: pending authorization with several challenges (RFC 8555 §7.5)", "[acme][messages]") {
  const char* doc = R"({
     "status": "pending",
     "expires": "2016-01-02T14:09:30Z",
     "identifier": {"type": "dns", "value": "www.example.org"},
     "challenges": [
       {"type": "http-01", "url": "https://example.com/acme/chall/prV_B7yEyA4",
        "status": "pending", "token": "DGyRejmCefe7v4NfDGDKfA"},
       {"type": "dns-01", "url": "https://example.com/acme/chall/Rg5dV14Gh1Q",
        "status": "pending", "token": "DGyRejmCefe7v4NfDGDKfA"},
       {"type": "tls-alpn-01", "url": "https://example.com/acme/chall/b6c7d8",
        "status": "invalid", "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
        "error": {"type": "urn:ietf:params:acme:error:tls", "detail": "handshake failed"}},
       {"type": "future-02", "url": "https://example.com/acme/chall/zz", "status": "pending"}
     ]
   })";
  auto a = parse_authorization(doc);
  REQUIRE(a);
  CHECK(a->status == "pending");
  REQUIRE(a->challenges.size() == 4);
  const Challenge* alpn = a->find_challenge("tls-alpn-01");
  REQUIRE(alpn);
  CHECK(alpn->token == "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
  CHECK(alpn->status == "invalid");
  REQUIRE(alpn->error);
  CHECK(alpn->error->type == "urn:ietf:params:acme:error:tls");
  CHECK(a->challenges[3].token.empty());

  auto single = parse_challenge(R"({"type":"tls-alpn-01","url":"https://ca/c/1","status":"processing","token":"abc_-DEF"})");
  REQUIRE(single);
  CHECK(single->status == "processing");

  // A token must be usable in paths and key authorizations: base64url only.
  CHECK_FALSE(parse_challenge(R"({"type":"http-01","url":"u","status":"pending","token":"../../etc/passwd"})"));
  CHECK_FALSE(parse_challenge(R"({"type":"http-01","url":"u","status":"pending","token":""})"));
  CHECK_FALSE(parse_challenge(R"({"type":"http-01","url":"u","status":"pending","token":5})"));
  CHECK_FALSE(parse_challenge(R"({"type":"http-01","url":"u","status":"done","token":"a"})"));
  CHECK_FALSE(parse_challenge(R"({"type":"http-01","status":"pending","token":"a"})"));
  CHECK_FALSE(parse_authorization(R"({"status":"pending","challenges":[]})"));                      // no identifier
  CHECK_FALSE(parse_authorization(R"({"status":"pending","identifier":{"type":"dns","value":"a"}})"));  // no challenges
  CHECK_FALSE(parse_authorization(R"({"status":"pending","identifier":{"type":"dns","value":"a"},"challenges":[1]})"));
  CHECK_FALSE(parse_authorization(R"({"status":"pending","identifier":"a","challenges":[]})"));
  CHECK_FALSE(parse_authorization(R"({"status":"pending","identifier":{"type":"dns","value":"a"},"challenges":[],"wildcard":"no"})"));
}

TEST_CASE("acme messages: problem documents (RFC 8555 §6.7)", "[acme][messages]") {
  const char* doc = R"({
       "type": "urn:ietf:params:acme:error:malformed",
       "detail": "Some of the identifiers requested were rejected",
       "subproblems": [
           {
               "type": "urn:ietf:params:acme:error:malformed",
               "detail": "Invalid underscore in DNS name \"_example.org\"",
               "identifier": {
                   "type": "dns",
                   "value": "_example.org"
               }
           },
           {
               "type": "urn:ietf:params:acme:error:rejectedIdentifier",
               "detail": "This CA will not issue for \"example.net\"",
               "identifier": {
                   "type": "dns",
                   "value": "example.net"
               }
           }
       ]
   })";
  auto p = parse_problem(doc);
  REQUIRE(p);
  CHECK(p->type == "urn:ietf:params:acme:error:malformed");
  CHECK(p->detail == "Some of the identifiers requested were rejected");
  CHECK_FALSE(p->status);
  REQUIRE(p->subproblems.size() == 2);
  CHECK(p->subproblems[0].detail == "Invalid underscore in DNS name \"_example.org\"");
  CHECK(p->subproblems[0].identifier_value == "_example.org");
  CHECK(p->subproblems[1].type == "urn:ietf:params:acme:error:rejectedIdentifier");
  CHECK(p->subproblems[1].identifier_type == "dns");
  CHECK(p->subproblems[1].identifier_value == "example.net");

  auto nonce = parse_problem(R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"JWS has an invalid anti-replay nonce","status":400})");
  REQUIRE(nonce);
  CHECK(nonce->type == "urn:ietf:params:acme:error:badNonce");
  CHECK(nonce->status == std::optional<int>(400));

  auto empty = parse_problem("{}");
  REQUIRE(empty);
  CHECK(empty->type.empty());

  CHECK_FALSE(parse_problem(R"({"type":1})"));
  CHECK_FALSE(parse_problem(R"({"status":"400"})"));
  CHECK_FALSE(parse_problem(R"({"status":400.5})"));
  CHECK_FALSE(parse_problem(R"({"subproblems":{}})"));
  CHECK_FALSE(parse_problem(R"({"subproblems":[1]})"));
  CHECK_FALSE(parse_problem("<html>502 Bad Gateway</html>"));
  CHECK_FALSE(parse_problem(""));
}

TEST_CASE("acme messages: parsers reject malformed JSON", "[acme][messages]") {
  for (const char* bad : {"", "{", R"({"status":"valid",})", R"({"status":"valid"} trailing)", "null", "[]",
                          R"({"status":"valid","status":"invalid"})", "{\"status\":\"val\x01id\"}"}) {
    INFO(bad);
    CHECK_FALSE(parse_account(bad));
    CHECK_FALSE(parse_order(bad));
    CHECK_FALSE(parse_authorization(bad));
    CHECK_FALSE(parse_directory(bad));
    CHECK_FALSE(parse_challenge(bad));
  }
  auto r = parse_order("{\"status\": ");
  CHECK_FALSE(r);
  CHECK_FALSE(r.error.empty());
}
