"""The cleanup function: prunes unreferenced Lambda versions and AppConfig hosted versions."""
