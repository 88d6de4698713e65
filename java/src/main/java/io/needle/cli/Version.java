package io.needle.cli;

import picocli.CommandLine.IVersionProvider;

/** {@code --version} of every command. */
final class Version implements IVersionProvider {
  static final String VERSION = "needle 0.1.0";

  @Override
  public String[] getVersion() {
    return new String[] {VERSION};
  }
}
