#include "console.hpp"

#include <fcntl.h>
#include <histedit.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cwchar>
#include <deque>
#include <iostream>
#include <mutex>

namespace paddock::cli {
namespace {

// One lock for every write to stdout and stderr, and the queue of text waiting for the line
// editor to make room for it.
std::mutex g_output_mu;

void write_all(FILE* f, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

}  // namespace

struct Console::Editor {
  EditLine* el = nullptr;
  History* hist = nullptr;
  HistEvent ev{};
  std::string history_file;
  std::function<std::string()> prompt_source;
  std::string prompt;  // what the prompt callback returned last; libedit keeps the pointer

  int wake[2] = {-1, -1};  // a notification arrived while a line is being edited
  bool reading = false;    // guarded by g_output_mu
  std::deque<std::string> waiting;
  std::mbstate_t mb{};

  static Editor* of(EditLine* el) {
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    return static_cast<Editor*>(self);
  }

  static char* prompt_fn(EditLine* el) {
    Editor* e = of(el);
    e->prompt = e->prompt_source ? e->prompt_source() : std::string();
    return e->prompt.data();
  }

  static int read_char_fn(EditLine* el, wchar_t* wc) { return of(el)->read_char(wc); }

  // libedit's character source: waits on the terminal and on the notification pipe, so that
  // a watch event shows at once even while the user is idle at the prompt.
  int read_char(wchar_t* wc) {
    for (;;) {
      pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {wake[0], POLLIN, 0}};
      int rc = ::poll(p, 2, -1);
      if (rc < 0) {
        if (errno == EINTR) continue;  // e.g. SIGWINCH: libedit's handler has resized
        return -1;
      }
      if (p[1].revents & POLLIN) print_waiting_above_line();
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char byte;
      ssize_t n = ::read(STDIN_FILENO, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      size_t r = std::mbrtowc(wc, &byte, 1, &mb);
      if (r == static_cast<size_t>(-2)) continue;  // the rest of a multibyte character follows
      if (r == static_cast<size_t>(-1)) {
        mb = std::mbstate_t{};
        *wc = static_cast<unsigned char>(byte);
      }
      return 1;
    }
  }

  void drain_wake_pipe() {
    char buf[64];
    while (::read(wake[0], buf, sizeof buf) > 0) {
    }
  }

  // Clears the prompt and the line being edited, prints what is waiting, and has libedit
  // draw the prompt and the line again (EL_REFRESH assumes the cursor at column 0).
  void print_waiting_above_line() {
    std::lock_guard lk(g_output_mu);
    drain_wake_pipe();
    if (waiting.empty()) return;
    int cols = 0;
    el_get(el, EL_GETTC, "co", &cols);
    if (cols <= 0) cols = 80;
    const LineInfo* li = el_line(el);
    size_t cursor_col = prompt.size() + (li ? static_cast<size_t>(li->cursor - li->buffer) : 0);
    size_t rows_up = cursor_col / static_cast<size_t>(cols);
    std::string clear;
    if (rows_up > 0) clear += "\x1b[" + std::to_string(rows_up) + "A";
    clear += "\r\x1b[J";
    write_all(stdout, clear);
    while (!waiting.empty()) {
      write_all(stdout, waiting.front());
      waiting.pop_front();
    }
    el_set(el, EL_REFRESH);
  }
};

Console::Console(bool editing, std::string history_file) : editing_(editing) {
  if (!editing_) return;
  std::setlocale(LC_CTYPE, "");  // multibyte input; dates and numbers stay in the C locale
  editor_ = std::make_unique<Editor>();
  Editor& e = *editor_;
  if (::pipe2(e.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
    editing_ = false;
    editor_.reset();
    return;
  }
  e.history_file = std::move(history_file);
  e.hist = history_init();
  history(e.hist, &e.ev, H_SETSIZE, 1000);
  history(e.hist, &e.ev, H_SETUNIQUE, 1);
  if (!e.history_file.empty()) history(e.hist, &e.ev, H_LOAD, e.history_file.c_str());

  e.el = el_init("paddock-cli", stdin, stdout, stderr);
  el_set(e.el, EL_CLIENTDATA, &e);
  el_set(e.el, EL_EDITOR, "emacs");
  el_set(e.el, EL_SIGNAL, 1);
  el_set(e.el, EL_HIST, history, e.hist);
  el_set(e.el, EL_PROMPT, &Editor::prompt_fn);
  el_set(e.el, EL_GETCFN, &Editor::read_char_fn);
  el_set(e.el, EL_BIND, "^R", "em-inc-search-prev", nullptr);
  el_source(e.el, nullptr);  // the user's ~/.editrc, if any
}

Console::~Console() {
  if (!editor_) return;
  Editor& e = *editor_;
  if (e.el) el_end(e.el);
  if (e.hist) history_end(e.hist);
  for (int fd : e.wake) {
    if (fd >= 0) ::close(fd);
  }
}

void Console::set_prompt(std::function<std::string()> prompt) {
  if (editor_) editor_->prompt_source = std::move(prompt);
}

std::optional<std::string> Console::read_line() {
  if (!editing_) {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  Editor& e = *editor_;
  {
    std::lock_guard lk(g_output_mu);
    e.reading = true;
  }
  int count = 0;
  const char* got = el_gets(e.el, &count);
  std::optional<std::string> line;
  if (got && count > 0) {
    line = std::string(got, static_cast<size_t>(count));
    while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
  }
  std::lock_guard lk(g_output_mu);
  e.reading = false;
  e.drain_wake_pipe();
  if (!line) write_all(stdout, "\n");  // end of input: leave the terminal on a fresh line
  while (!e.waiting.empty()) {
    write_all(stdout, e.waiting.front());
    e.waiting.pop_front();
  }
  return line;
}

void Console::add_history(const std::string& line) {
  if (!editor_) return;
  Editor& e = *editor_;
  history(e.hist, &e.ev, H_ENTER, line.c_str());
  if (!e.history_file.empty()) history(e.hist, &e.ev, H_SAVE, e.history_file.c_str());
}

void Console::out(std::string_view text) {
  std::lock_guard lk(g_output_mu);
  write_all(stdout, text);
}

void Console::err(std::string_view text) {
  std::lock_guard lk(g_output_mu);
  write_all(stderr, text);
}

void Console::notify(std::string text) {
  std::lock_guard lk(g_output_mu);
  if (editor_ && editor_->reading) {
    editor_->waiting.push_back(std::move(text));
    char b = 1;
    if (::write(editor_->wake[1], &b, 1) < 0) { /* full pipe: a wake-up is already pending */ }
    return;
  }
  write_all(stdout, text);
}

}  // namespace paddock::cli
