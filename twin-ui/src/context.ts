import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { TwinState, TwinStore } from './store.ts';

export const StoreContext = createContext<TwinStore | null>(null);

export function useTwinStore(): TwinStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useTwinStore: no StoreContext provider above this component');
  return store;
}

/** Subscribes a component to slow state (topology, selection, toggles, summary). */
export function useTwin<T>(selector: (s: TwinState) => T): T {
  return useStore(useTwinStore(), selector);
}
