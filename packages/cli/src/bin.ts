#!/usr/bin/env node
import { main } from "../src/Main.ts"

main()
