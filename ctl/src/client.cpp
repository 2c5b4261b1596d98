#include "client.h"

#include <Poco/Exception.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <memory>
#include <sstream>

namespace ferryctl {

Client::Client(std::string base, bool insecure) : base_(std::move(base)), insecure_(insecure) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Reply Client::request(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& type) {
  try {
    Poco::URI uri(base_ + path);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      Poco::Net::initializeSSL();  // reference-counted; the process exits soon after
      Poco::Net::Context::Ptr ctx = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
          insecure_ ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_RELAXED, 9, true);
      // Certificate problems are refused (exit 3), never asked about on the terminal.
      Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject = new Poco::Net::RejectCertificateHandler(false);
      Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ctx);
    } else if (uri.getScheme() == "http") {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      throw ConnectError{"unsupported admin URL scheme '" + uri.getScheme() + "' (use http:// or https://)"};
    }
    session->setTimeout(Poco::Timespan(60, 0));  // a reload may take up to 30 s
    Poco::Net::HTTPRequest req(method, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token_.empty()) req.set("Authorization", "Bearer " + token_);
    req.set("Accept", "application/json");
    if (method != "GET" && method != "HEAD") {
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      if (!type.empty()) req.setContentType(type);
    }
    std::ostream& out = session->sendRequest(req);
    if (!body.empty()) out << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session->receiveResponse(resp);
    Reply r;
    r.status = static_cast<int>(resp.getStatus());
    std::ostringstream text;
    Poco::StreamCopier::copyStream(in, text);
    r.body = text.str();
    return r;
  } catch (const ConnectError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw ConnectError{"cannot reach the admin API at " + base_ + ": " + e.displayText()};
  } catch (const std::exception& e) {
    throw ConnectError{"cannot reach the admin API at " + base_ + ": " + e.what()};
  }
}

}  // namespace ferryctl
