// ferryd entry point (POCO_SERVER_MAIN, plus exit-code mapping and a last-resort catch:
// no exception escapes main).
#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>

#include <exception>
#include <iostream>

#include "ferry_app.h"
#include "services/exit_codes.h"

int main(int argc, char** argv) {
  try {
    Poco::AutoPtr<ferry::daemon::FerryApp> app = new ferry::daemon::FerryApp;
    int rc = app->run(argc, argv);
    return app->exit_code(rc);
  } catch (const Poco::Exception& e) {
    std::cerr << "ferryd: " << e.displayText() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "ferryd: " << e.what() << std::endl;
  } catch (...) {
    std::cerr << "ferryd: unknown exception" << std::endl;
  }
  return ferry::daemon::kExitStartup;
}
