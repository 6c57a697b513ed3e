<?php
/**
 * The plugin's settings: one option (`newsrec_settings`) plus the CMS token in an option of its
 * own (`newsrec_token`, never autoloaded, never printed back). Defaults and validation are pure.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings defaults, validation and access.
 */
class Newsrec_Settings {

	const OPTION       = 'newsrec_settings';
	const TOKEN_OPTION = 'newsrec_token';
	const WINDOWS      = array( '1h', '24h', '1d', '7d', '30d', 'all' );

	/**
	 * Default values.
	 *
	 * @return array
	 */
	public static function defaults() {
		return array(
			'service_url'         => '',
			'public_url'          => '',
			'related_enabled'     => 1,
			'most_viewed_enabled' => 1,
			'auto_place'          => 1,
			'widget'              => 1,
			'widget_css'          => 1,
			'count_views'         => 1,
			'n'                   => 5,
			'window'              => '7d',
			'related_title'       => '',
			'most_viewed_title'   => '',
			'cache_ttl'           => 60,
			'timeout'             => 2,
			'post_types'          => array( 'post' ),
		);
	}

	/**
	 * The stored settings, completed with defaults.
	 *
	 * @return array
	 */
	public static function get() {
		$stored = get_option( self::OPTION, array() );
		return array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
	}

	/**
	 * The CMS token, '' when none is saved.
	 *
	 * @return string
	 */
	public static function token() {
		return (string) get_option( self::TOKEN_OPTION, '' );
	}

	/**
	 * The service's base URL for the server, without a trailing slash; '' when unset.
	 *
	 * @param array|null $settings Settings, default the stored ones.
	 * @return string
	 */
	public static function service_url( $settings = null ) {
		$settings = null === $settings ? self::get() : $settings;
		return rtrim( (string) $settings['service_url'], '/' );
	}

	/**
	 * The service's base URL for readers' browsers (widget, view beacon).
	 *
	 * @param array|null $settings Settings, default the stored ones.
	 * @return string
	 */
	public static function public_url( $settings = null ) {
		$settings = null === $settings ? self::get() : $settings;
		$public   = rtrim( (string) $settings['public_url'], '/' );
		return '' !== $public ? $public : self::service_url( $settings );
	}

	/**
	 * Validated settings from a settings form (unknown keys ignored, bad values replaced by the
	 * previous or default value). Pure.
	 *
	 * @param array $input    The submitted values.
	 * @param array $previous The values before.
	 * @return array array( settings, list of error messages ).
	 */
	public static function validate( array $input, array $previous ) {
		$out    = array_merge( self::defaults(), $previous );
		$errors = array();
		foreach ( array( 'service_url', 'public_url' ) as $key ) {
			$value = trim( (string) ( $input[ $key ] ?? '' ) );
			if ( '' === $value || preg_match( '#^https?://[^\s/?\#]+(/[^\s?\#]*)?$#i', $value ) ) {
				$out[ $key ] = rtrim( $value, '/' );
			} else {
				$errors[] = array( $key, 'url' );
			}
		}
		foreach ( array( 'related_enabled', 'most_viewed_enabled', 'auto_place', 'widget', 'widget_css', 'count_views' ) as $key ) {
			$out[ $key ] = empty( $input[ $key ] ) ? 0 : 1;
		}
		$ranges = array(
			'n'         => array( 1, 50 ),
			'cache_ttl' => array( 0, 3600 ),
			'timeout'   => array( 1, 10 ),
		);
		foreach ( $ranges as $key => $range ) {
			$value = trim( (string) ( $input[ $key ] ?? '' ) );
			if ( preg_match( '/^\d+$/', $value ) && (int) $value >= $range[0] && (int) $value <= $range[1] ) {
				$out[ $key ] = (int) $value;
			} else {
				$errors[] = array( $key, 'range' );
			}
		}
		$window = (string) ( $input['window'] ?? '' );
		if ( in_array( $window, self::WINDOWS, true ) ) {
			$out['window'] = $window;
		} else {
			$errors[] = array( 'window', 'choice' );
		}
		foreach ( array( 'related_title', 'most_viewed_title' ) as $key ) {
			// Text only (it is escaped when shown): no markup, no control characters.
			$out[ $key ] = Newsrec_Payload::plain( preg_replace( '/[\x00-\x1f\x7f]+/', ' ', (string) ( $input[ $key ] ?? '' ) ) );
		}
		return array( $out, $errors );
	}
}
