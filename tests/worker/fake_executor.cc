// A stand-in for an application binary in executor mode, for the worker's launch test.
// It records its argv in <app-dir>/executor-<id>/argv (one argument per line), then
// behaves by executor id: 1 fails (a line on stderr, exit 3) before it would reach a
// driver, 2 exits 0, any other runs until it is signalled. All but 1 create the
// `registered` file a real executor creates once its driver accepts it.

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--kiln-executor") != 0) {
    std::fprintf(stderr, "fake executor: expected --kiln-executor\n");
    return 64;
  }
  std::string app_dir;
  int id = -1;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--app-dir=", 0) == 0) app_dir = arg.substr(10);
    if (arg.rfind("--executor-id=", 0) == 0) id = std::stoi(arg.substr(14));
  }
  std::string path = app_dir + "/executor-" + std::to_string(id) + "/argv";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    for (int i = 0; i < argc; ++i) std::fprintf(f, "%s\n", argv[i]);
    std::fclose(f);
  }
  if (id != 1) {  // 1 dies before it would reach a driver
    std::string registered = app_dir + "/executor-" + std::to_string(id) + "/registered";
    if (FILE* f = std::fopen(registered.c_str(), "w")) std::fclose(f);
  }
  std::printf("fake executor %d started\n", id);
  std::fflush(stdout);
  if (id == 1) {
    std::fprintf(stderr, "starting\nfatal: boom\n");
    return 3;
  }
  if (id == 2) return 0;
  while (true) pause();
}
